"""summary_ssl.utils."""
