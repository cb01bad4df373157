"""Telling people things: notifications, the mail outbox, e-mail address checks."""
