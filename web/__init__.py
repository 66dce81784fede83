"""The web app on the lender's side: the demo lender site with the chat widget, and the staff console."""
