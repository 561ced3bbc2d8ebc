"""template-emulator: runs an AWS SAM template on an embedded AWS endpoint (see README.md). Start with
template_emulator.emulator.Emulator and template_emulator.profile.Profile."""

__version__ = "0.1.0"
