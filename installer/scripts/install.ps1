# bianmin node installer for Windows (x64): needs Python 3.11 or 3.12 (python.org installer, "py"
# launcher) and this folder only; nothing is downloaded. Run in PowerShell as administrator from
# the unpacked bundle:
#
#   .\install.ps1 -Central https://bianmin.city.example -Token XXXX-XXXX-XXXX-XXXX-XXXX -NodeId V000101 -Parent T0101
#   .\install.ps1 -EnrolFile E:\V000101.enrol.toml        (the city's file on a USB stick)
#
# It makes a virtual environment in $Prefix\venv from the bundle's wheels, enrols the node (and
# shows the city's key fingerprint to compare), registers a scheduled task that starts the node at
# boot (and restarts it), a daily backup task if -BackupTo is given, and a desktop shortcut that
# opens the node page.
param(
    [string]$Prefix = "C:\bianmin",
    [string]$Data = "C:\bianmin\data",
    [int]$Port = 8000,
    [string]$Network = "rugao",
    [string]$Central = "",
    [string]$Token = "",
    [string]$NodeId = "",
    [string]$Parent = "",
    [string]$EnrolFile = "",
    [string]$BackupTo = "",
    [switch]$Yes,
    [switch]$NoService
)
$ErrorActionPreference = "Stop"
$Here = Split-Path -Parent $MyInvocation.MyCommand.Path

function Find-Python {
    foreach ($v in @("3.12", "3.11")) {
        try { $exe = & py "-$v" -c "import sys; print(sys.executable)" 2>$null; if ($LASTEXITCODE -eq 0) { return $exe.Trim() } } catch {}
    }
    throw "Python 3.11 or 3.12 is not installed. Install it from the python.org installer on the USB stick."
}

Write-Host "== 1/4 virtual environment in $Prefix\venv (from the bundle's wheels only)"
$Python = Find-Python
New-Item -ItemType Directory -Force -Path $Prefix, $Data | Out-Null
& $Python -m venv "$Prefix\venv"
if ($LASTEXITCODE -ne 0) { throw "could not create the virtual environment" }
& "$Prefix\venv\Scripts\python.exe" -m pip install --quiet --no-index --find-links "$Here\wheels" bianmin
if ($LASTEXITCODE -ne 0) { throw "pip could not install bianmin from $Here\wheels" }
$Bianmin = "$Prefix\venv\Scripts\bianmin.exe"

if (-not (Test-Path "$Data\node.toml")) {
    Write-Host "== 2/4 enrolment with the city"
    if ($EnrolFile) {
        $out = & $Bianmin enrol --data $Data --file $EnrolFile
    } else {
        if (-not ($Central -and $Token -and $NodeId)) { throw "give -Central -Token -NodeId, or -EnrolFile" }
        $argv = @("node", "init", "--data", $Data, "--central", $Central, "--token", $Token, "--node-id", $NodeId, "--network", $Network)
        if ($Parent) { $argv += @("--parent", $Parent) }
        $out = & $Bianmin @argv
    }
    $out | ForEach-Object { Write-Host $_ }
    if ($LASTEXITCODE -ne 0) { throw "enrolment failed: see the message above" }
    $fp = ($out | Select-String "^city key fingerprint: (.*)$").Matches.Groups[1].Value
    Write-Host ""
    Write-Host "  城市中心密钥指纹 / city key fingerprint:  $fp"
    if (-not $Yes) {
        $answer = Read-Host "  与市中心管理员念给您的指纹一致吗？ Does it match what the city read to you? [y/N]"
        if ($answer -notin @("y", "Y", "yes", "是")) {
            Rename-Item $Data "$Data.refused-$(Get-Date -Format yyyyMMddHHmmss)"
            throw "fingerprint not confirmed: enrolment set aside, nothing trusted"
        }
    }
}

Write-Host "== 3/4 start-up task and desktop shortcut"
if (-not $NoService) {
    $action = New-ScheduledTaskAction -Execute $Bianmin -Argument "node run --data `"$Data`" --port $Port --host 127.0.0.1"
    $trigger = New-ScheduledTaskTrigger -AtStartup
    $settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit ([TimeSpan]::Zero) -StartWhenAvailable
    Register-ScheduledTask -TaskName "bianmin-node" -Action $action -Trigger $trigger -Settings $settings -User "SYSTEM" -RunLevel Highest -Force | Out-Null
    if ($BackupTo) {
        $backup = New-ScheduledTaskAction -Execute $Bianmin -Argument "backup --data `"$Data`" --to `"$BackupTo`" --keep 7"
        Register-ScheduledTask -TaskName "bianmin-backup" -Action $backup -Trigger (New-ScheduledTaskTrigger -Daily -At 12:30) -User "SYSTEM" -Force | Out-Null
    }
    Start-ScheduledTask -TaskName "bianmin-node"
}
$desktop = [Environment]::GetFolderPath("CommonDesktopDirectory")
$shell = New-Object -ComObject WScript.Shell
$link = $shell.CreateShortcut("$desktop\便民服务点.url")
$link.TargetPath = "http://127.0.0.1:$Port/"
$link.Save()

Write-Host "== 4/4 check"
& $Bianmin doctor --data $Data --offline
Write-Host "Open the desktop shortcut 便民服务点 (http://127.0.0.1:$Port/)."
