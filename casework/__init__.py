"""The rules of the service network, shared by nodes and central.

Pure Python: no Flask, no HTTP, no SQL, no sync. Everything here can be unit-tested without a
server or a database, and both apps call the same code so a village and the city never disagree
about a due date, a fee or a missing material.
"""
