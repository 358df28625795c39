"""Notifications: in-portal and email messages to the people of a role when a step becomes due for them."""
