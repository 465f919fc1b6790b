from benchmarks import plan_refresh

plan_refresh.main()
