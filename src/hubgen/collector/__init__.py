"""The local form backend: the WSGI collector (app), its lead records, export and erasure (leads).
It does not import the build pipeline: whoever runs it hands it the hub state it needs."""
