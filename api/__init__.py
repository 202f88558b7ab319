"""The versioned REST API (/api/v1/): personal API tokens, and the cases' resources served through the same
actions, queries and permission policy as the pages (never a rule of its own)."""
