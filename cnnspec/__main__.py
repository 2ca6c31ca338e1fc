from cnnspec.cli import main

raise SystemExit(main())
