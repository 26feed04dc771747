"""Code Sense in Slack: a Bolt app over the one facade, mounted at /slack/events by
`codesense serve` (or run in Socket Mode by `codesense slack --socket`)."""
