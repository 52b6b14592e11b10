"""Everything that talks to AWS; nothing outside this package imports boto3."""
