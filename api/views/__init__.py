"""The API's views, one module per resource group; each parses input, asks the policy for the object (404 for what
the caller may not see), calls one action or query of `cases`, and serialises the answer."""
