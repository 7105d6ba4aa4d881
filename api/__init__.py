"""Web layer, store and CLI of the Social Return Matcher."""
