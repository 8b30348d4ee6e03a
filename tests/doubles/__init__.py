"""Loopback HTTP doubles of the provider APIs (Gemini, Anthropic) for tests that drive the real SDKs."""
