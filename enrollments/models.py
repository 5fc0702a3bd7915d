"""Enrollments for payments without redirect (enrollments v2); models arrive with that issue."""
