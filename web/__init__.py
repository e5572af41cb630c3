"""The reading side (`sgs web`): the public search portal and JSON API, and the supervisors' dashboard."""
