"""Model access: messages, the OpenAI-compatible client with retries and limits, the reply cache."""
