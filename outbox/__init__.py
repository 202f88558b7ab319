"""The transactional outbox: work an action starts is written in the action's own transaction, then relayed.

`relay.enqueue` writes one row per task (and `relay.enqueue_email` one per e-mail) beside the change that asks
for it, so a rolled-back change asks for nothing and a committed one loses nothing. Right after the commit the
row is offered to the broker (the fast path); whatever the broker did not take, a periodic relay (the beat job
`outbox.tasks.relay_outbox_task`) offers again with growing pauses. A row is marked sent only once the broker
has taken it, and done only once its task has finished (`receipts`), so delivery is at least once and every
task started this way must be idempotent. Nothing here knows accounts or cases.
"""
