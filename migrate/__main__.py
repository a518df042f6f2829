from pyo3_migrate.shell.start import main

main()
