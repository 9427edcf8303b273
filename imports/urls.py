"""Workspace pages of this app."""

urlpatterns: list = []
