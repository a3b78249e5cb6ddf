from shipline.cli import main

raise SystemExit(main())
