"""Reading many records at once: the dashboard and its monthly summary, the filtered lists, the quarter and year roll-up, Excel and CSV exports."""
