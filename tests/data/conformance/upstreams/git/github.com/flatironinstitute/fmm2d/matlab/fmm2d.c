/* MEX gateway source (stand-in; compiled by make matlab upstream) */
