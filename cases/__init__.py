"""Cases: the requests, their items, evidence, threads, deadlines and signed reports. See docs/architecture.md."""
