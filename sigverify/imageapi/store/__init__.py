"""The embedded image store: SQLite objects under OpenShift's rules, its REST face, seeds."""
