"""The project's tools: benchmarks, the cost meter's driver, the OpenAPI generator, publishing the web app."""
