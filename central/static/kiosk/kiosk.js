/* The kiosk's two behaviours that need a script (central/views_kiosk.py); everything else is
   links and forms that work without it.
   1. Idle reset: after data-kiosk-idle seconds without a touch, go to data-kiosk-home (the kiosk's
      home in Chinese), so the next person never sees the last one's case. A warning shows for the
      last few seconds; any touch keeps the page.
   2. The on-screen keyboard: [data-key] buttons type into the active [data-kiosk-input] field
      ("back" deletes, "clear" empties, "next" moves on); the fields get inputmode="none" so a
      touch screen's own keyboard stays away. On the search page ([data-kiosk-live]) the results
      follow the typing, fetched from the same page. */
(function () {
  "use strict";
  var bar = document.querySelector("[data-kiosk-home]");
  if (!bar) {
    return;
  }
  document.documentElement.className += " kiosk-js";

  // --- 1. idle reset -------------------------------------------------------------------------
  var seconds = parseFloat(bar.getAttribute("data-kiosk-idle")) || 90;
  var home = bar.getAttribute("data-kiosk-home");
  var atHome = bar.hasAttribute("data-kiosk-at-home");
  var warning = document.getElementById("kiosk-idle-warning");
  var warnAfter = Math.max(seconds - Math.min(10, seconds / 4), 0);
  var idleTimer = null;
  var warnTimer = null;

  function goHome() {
    if (atHome && !document.querySelector("[data-kiosk-input]")) {
      restart();
      window.scrollTo(0, 0);
      return;
    }
    window.location.replace(home);
  }

  function restart() {
    window.clearTimeout(idleTimer);
    window.clearTimeout(warnTimer);
    if (warning) {
      warning.hidden = true;
    }
    idleTimer = window.setTimeout(goHome, seconds * 1000);
    if (warning && !atHome) {
      warnTimer = window.setTimeout(function () { warning.hidden = false; }, warnAfter * 1000);
    }
  }

  ["pointerdown", "touchstart", "keydown", "wheel", "scroll"].forEach(function (name) {
    window.addEventListener(name, restart, { passive: true, capture: true });
  });
  restart();

  // --- 2. the on-screen keyboard -------------------------------------------------------------
  var inputs = Array.prototype.slice.call(document.querySelectorAll("[data-kiosk-input]"));
  if (!inputs.length) {
    return;
  }
  var active = null;

  function activate(input) {
    if (active) {
      active.classList.remove("kiosk-active");
    }
    active = input;
    active.classList.add("kiosk-active");
  }

  inputs.forEach(function (input) {
    input.setAttribute("inputmode", "none");
    input.addEventListener("focus", function () { activate(input); });
    input.addEventListener("pointerdown", function () { activate(input); });
  });
  activate(inputs.filter(function (i) { return i.getAttribute("aria-invalid") === "true"; })[0] || inputs[0]);

  function nextOf(input) {
    var selector = input.getAttribute("data-kiosk-next");
    return selector ? document.querySelector(selector) : null;
  }

  var live = null;
  var liveTimer = null;

  function refresh(input) {
    var target = document.querySelector(input.getAttribute("data-kiosk-live"));
    if (!target || !window.fetch) {
      return;
    }
    var form = input.form;
    var url = form.getAttribute("action") + "?" + new URLSearchParams(new FormData(form)).toString();
    if (live) {
      live.abort();
    }
    live = new AbortController();
    fetch(url, { signal: live.signal, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector(input.getAttribute("data-kiosk-live"));
        var heading = page.querySelector(".kiosk-found h1");
        if (fresh) {
          target.innerHTML = fresh.innerHTML;
        }
        var oldHeading = document.querySelector(".kiosk-found h1");
        if (heading && oldHeading) {
          oldHeading.textContent = heading.textContent;
        }
        window.history.replaceState(null, "", url);
      })
      .catch(function () { /* a newer key press took over, or the link hiccuped: the search button still works */ });
  }

  document.addEventListener("click", function (event) {
    var key = event.target.closest ? event.target.closest("[data-key]") : null;
    if (!key || !active) {
      return;
    }
    event.preventDefault();
    var value = key.getAttribute("data-key");
    var input = active;
    if (value === "back") {
      input.value = input.value.slice(0, -1);
    } else if (value === "clear") {
      input.value = "";
    } else if (value === "next") {
      var next = nextOf(input);
      if (next) {
        activate(next);
      }
      return;
    } else if (!(input.maxLength > 0 && input.value.length >= input.maxLength)) {
      input.value += value;
      var following = nextOf(input);
      if (following && input.maxLength > 0 && input.value.length >= input.maxLength) {
        activate(following);
      }
    }
    if (input.hasAttribute("data-kiosk-live")) {
      window.clearTimeout(liveTimer);
      liveTimer = window.setTimeout(function () { refresh(input); }, 250);
    }
  });
})();
