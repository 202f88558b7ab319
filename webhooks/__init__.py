"""Webhooks: an organisation's own systems hear of case events, signed (Standard Webhooks), retried, and carrying
only what that organisation may see. Built on `cases` (its policy, its events); `cases` knows nothing of it."""
