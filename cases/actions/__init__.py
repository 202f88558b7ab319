"""Every change to cases: one function each, called alike by pages, the API, tasks, commands and tests.

One module per concern (cases, items, evidence, thread, deadlines, inbound e-mail, reports, notifications).
Each action takes keyword-only arguments, checks permission and state through cases.permissions, writes
inside one transaction under a row lock, records the audit event, and hands follow-up work to cases.jobs,
which sends it when the transaction commits. Import the function from its module:

    from cases.actions.cases import submit_case
"""
