"""Sheet midterm: regularisers, CNN shape arithmetic, weight normalisation, Adam."""
