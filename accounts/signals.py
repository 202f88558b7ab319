from django.dispatch import Signal

# Sent after a change to people or organisations commits its row changes, inside
# the same transaction, with actor, action, organization, target and data.
# The audit log (cases/audit.py) listens; accounts knows nothing of it.
account_event = Signal()
