from kubelab.cli import main

main()
