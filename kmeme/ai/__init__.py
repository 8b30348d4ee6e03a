"""Provider clients and the rules every AI call follows: scrub, budget, circuit, retry, validate, account."""
