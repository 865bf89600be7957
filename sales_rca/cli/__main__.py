"""``python -m sales_rca.cli`` runs the command line."""

from sales_rca.cli import main

main()
