"""The caseworkers' web inbox (issue 21; docs/inbox.md): server-rendered GOV.UK pages under /inbox."""
