"""summary_ssl.nnet."""
