"""The HTTP API: how people and other systems reach cases (issue 15; docs/api.md).

One authorization point. Every request carries a bearer token (access/tokens.py), every
action is asked of the one policy (access/policy.py) before anything is read or written,
and the actor recorded is the token's subject. Cases are acted on through
``workflows.client.CaseClient``; the CID is read through ``cid.read_model``.
"""
