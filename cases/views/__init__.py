"""The pages of cases, one module per page group. Views parse input, ask the policy (cases.permissions) for the
object, call one action or query, and render or redirect; they hold no rules of their own."""
