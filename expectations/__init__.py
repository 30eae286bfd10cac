"""Great Expectations suites (one per source) and the validation gate that runs them."""
