import KGateCLI

KGateCommand.main()
