"""Who is acting and what they may do.

``access.tokens`` turns an OAuth 2.0 bearer token (a JWT from the OpenID Connect issuer)
into a ``Principal``; ``access.policy`` decides what that principal may do. The
development issuer (``access.dev_issuer``) mints such tokens on the local stack only.
See docs/access.md.
"""
