from burgerfries.cli import main

raise SystemExit(main())
