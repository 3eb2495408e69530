"""Policy audit reports: what is signed, by whom, and what the policy would deny."""
