"""The HTTP ingest gateway (`sgs gateway`): departments publish, revoke and follow their decisions over JSON."""
