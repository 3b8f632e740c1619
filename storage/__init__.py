"""Object storage: the S3 client face and the local development stack."""
