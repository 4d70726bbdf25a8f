"""The operator console: server-rendered pages under /console (Jinja2, no build step, readable without
JavaScript). Every page reads and writes through the public API, called in process with the signed-in member's
own API key, so the console can do exactly what that key may do and nothing else.

Sign-in: an API key, kept server-side (sealed with the service's AES-256-GCM keyring) behind a random session
token in a Secure, HttpOnly, SameSite=Strict cookie. Every form carries the session's CSRF token, and every POST
must come from the console's own origin.
"""
