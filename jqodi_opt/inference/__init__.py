"""The inference family (SPEC §7): one request of a model split across device, edge and cloud."""
