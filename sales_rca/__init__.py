"""sales-rca."""
