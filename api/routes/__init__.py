"""One router per resource: referrals, events, cases, tasks, feeds (docs/api.md)."""
