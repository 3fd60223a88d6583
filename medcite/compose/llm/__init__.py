"""The optional LLM composer: an OpenAI-compatible server writes the answer's prose from the
passages the extractive pipeline retrieved; every sentence it writes passes the verifier
(`compose.llm.compose`). `local` serves a small GGUF model for tests and machines without a GPU."""
