"""`python -m ferryml` runs the `ferry` command."""

if __name__ == "__main__":
    # Imported here, not above: a process spawned by this one (a uvicorn worker, a shadow
    # process) runs this module again as ``__mp_main__`` and must not load the whole CLI.
    from ferryml.cli import main

    main()
